-- diff_calculator: unified diffs of texts, structural diffs of JSON values.
io.write(Tool.invoke("diff_calculator", { old_text = "one\ntwo\nthree\n", new_text = "one\n2\nthree\n" }).text)
local j = Tool.invoke("diff_calculator", { format = "json", old_json = { a = 1, b = 2 }, new_json = { a = 1, b = 3, c = 4 } })
print(j.text)
