-- counter.lua: run it on a kernel that stays up; every run adds one to the global `counter`,
-- which later commands on the same kernel see (README: "A kernel that stays up").
--   llmspell kernel start --daemon --port 9555
--   llmspell run examples/counter.lua --connect localhost:9555 -- --name x
--   llmspell exec 'return counter' --connect localhost:9555
counter = (counter or 0) + 1
print(("hello %s: run %d on this kernel"):format(ARGS.name or "world", counter))
return counter
