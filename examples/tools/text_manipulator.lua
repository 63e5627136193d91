-- text_manipulator: case changes, replace, wrap, truncate.
local function T(op, input, options)
  local r = Tool.invoke("text_manipulator", { operation = op, input = input, options = options })
  return r.result.result
end
print(T("uppercase", "hello llmspell"))
print(T("replace", "hello world", { from = "world", to = "llmspell" }))
print(T("snake_case", "HelloWorld fooBar"), T("camel_case", "hello world"), T("pascal_case", "hello world"))
print(T("truncate", "a long sentence that goes on", { max_length = 12 }))
print(T("word_wrap", "the quick brown fox jumps over the lazy dog", { width = 16 }))
