-- calculator: safe arithmetic (no code runs), with variables.
local function C(p) local r = Tool.invoke("calculator", p) return r end
print("2 + 2 * 3 =", C({ operation = "evaluate", input = "2 + 2 * 3" }).result.result)
print("sqrt(x) + 2^3 =", C({ input = "sqrt(x) + 2^3", variables = { x = 16 } }).result.result)
print("valid '2 +':", C({ operation = "validate", input = "2 +" }).result.valid)
