// VS Code's reference DAP client (DebugClient) drives `llmspell debug --dap` to a breakpoint.
// Run by tests/test_debug_node.py: LLMSPELL_CLI is the llmspell executable, SCRIPT a Lua file.
const { test } = require("node:test");
const assert = require("node:assert");
const { DebugClient } = require("@vscode/debugadapter-testsupport");

test("DebugClient hits a breakpoint through the llmspell adapter", async () => {
  const dc = new DebugClient(process.env.LLMSPELL_CLI, "", "lua", { shell: false });
  dc.defaultTimeout = 15000;
  // DebugClient spawns `runtime executable` with one argument: a tiny launcher passes "--dap".
  await dc.start();
  try {
    await dc.hitBreakpoint(
      { program: process.env.SCRIPT },
      { path: process.env.SCRIPT, line: 2 },
    );
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    assert.strictEqual(trace.body.stackFrames[0].line, 2);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent("terminated")]);
  } finally {
    await dc.stop();
  }
});

test("stale references and exceptionInfo get answers, and the adapter keeps serving", async () => {
  const dc = new DebugClient(process.env.LLMSPELL_CLI, "", "lua", { shell: false });
  dc.defaultTimeout = 15000;
  await dc.start();
  try {
    const script = process.env.ERROR_SCRIPT;
    await dc.hitBreakpoint({ program: script }, { path: script, line: 2 });
    // references an editor kept from an earlier, deeper stop
    await assert.rejects(dc.scopesRequest({ frameId: 9999 }).then(
      (r) => dc.variablesRequest({ variablesReference: r.body.scopes[0].variablesReference }),
    ), /no frame 9999/);
    await assert.rejects(dc.variablesRequest({ variablesReference: 987654 }), /no longer available/);
    await assert.rejects(dc.exceptionInfoRequest({ threadId: 1 }), /not stopped at an error/);
    await dc.setExceptionBreakpointsRequest({ filters: ["error"] });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent("stopped")]);
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    assert.match(info.body.description, /bad input/);
    assert.strictEqual(info.body.breakMode, "unhandled");
    const trace = await dc.stackTraceRequest({ threadId: 1 });
    assert.strictEqual(trace.body.stackFrames[0].line, 3);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent("terminated")]);
  } finally {
    await dc.stop();
  }
});
