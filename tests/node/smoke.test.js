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
