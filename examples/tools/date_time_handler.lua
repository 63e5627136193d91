-- date_time_handler: now, parse, time zones, arithmetic, differences.
local function D(p) local r = Tool.invoke("date_time_handler", p) return r end
print("now:", D({ operation = "now" }).result.datetime)
print("parse:", D({ operation = "parse", input = "March 5, 2024 14:30" }).result.parsed.utc)
print("Paris:", D({ operation = "convert_timezone", input = "2024-06-01T12:00:00Z", target_timezone = "Europe/Paris" }).text)
print("+1 month:", D({ operation = "add", input = "2024-01-31", amount = 1, unit = "months" }).text)
print("days:", D({ operation = "difference", start = "2024-01-01", ["end"] = "2024-03-01" }).result.days)
