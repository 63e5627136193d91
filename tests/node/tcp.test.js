// VS Code's reference DAP client against `llmspell debug --dap-port`: the token in the launch
// arguments, two editors at once, a wrong token refused. Run by tests/test_debug_node.py with
// PORT, TOKEN and SCRIPT (a Lua file whose line 2 holds code).
const { test } = require("node:test");
const assert = require("node:assert");
const { DebugClient } = require("@vscode/debugadapter-testsupport");

const port = Number(process.env.PORT);
const script = process.env.SCRIPT;

async function connected() {
  const dc = new DebugClient("unused", "", "lua");
  await dc.start(port);
  return dc;
}

test("two DebugClients at once each stop at their breakpoint", async () => {
  const clients = [await connected(), await connected()];
  try {
    await Promise.all(
      clients.map((dc) =>
        dc.hitBreakpoint({ program: script, token: process.env.TOKEN }, { path: script, line: 2 }),
      ),
    );
    for (const dc of clients) {
      const trace = await dc.stackTraceRequest({ threadId: 1 });
      assert.strictEqual(trace.body.stackFrames[0].line, 2);
    }
    for (const dc of clients) {
      await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent("terminated")]);
    }
  } finally {
    for (const dc of clients) await dc.stop();
  }
});

test("a launch without the right token is refused", async () => {
  for (const token of [undefined, "not-the-token"]) {
    const dc = await connected();
    try {
      await assert.rejects(dc.launch({ program: script, token }), /token/);
    } finally {
      dc.stopAdapter();
    }
  }
});
