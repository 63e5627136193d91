-- args.lua: shows how `llmspell run args.lua -- --name x --flag pos1` reaches the script.
print("ARGS.name", ARGS.name)
print("ARGS.flag", ARGS.flag)
print("ARGS[1]", ARGS[1])
print("ARGS[0]", ARGS[0])
return {name = ARGS.name, flag = ARGS.flag, first = ARGS[1], script = ARGS[0]}
