-- email-sender: a message through the SMTP relay of [tools.email_sender] (smtp_host, smtp_port,
-- security, username + the password in the variable password_env names, from_address).
-- Needs a relay and a recipient: -- --to you@example.org
if not ARGS.to then
  print("skipped: set tools.email_sender.smtp_host in the configuration and pass -- --to ADDRESS")
  return
end
local ok, r = pcall(Tool.invoke, "email-sender", { to = ARGS.to, subject = "llmspell example", body = "Sent by examples/tools/email_sender.lua" })
if not ok then print(r) return end
print(r.message or r.error)
