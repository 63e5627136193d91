-- The code code-review-assistant reviews (`-- --input FILE` names another file like this one;
-- `-- --files N` reviews only the first N).
return {
    {
        filename = "auth.js",
        language = "javascript",
        code = [[
const crypto = require('crypto');
const jwt = require('jsonwebtoken');

const SECRET = 'hardcoded-secret-123';
const users = {};

function login(name, password) {
  const user = users[name];
  if (!user) throw new Error('no such user ' + name);
  const hash = crypto.createHash('md5').update(password).digest('hex');
  if (hash === user.hash) {
    console.log('login ' + name + ' ' + password);
    return jwt.sign({ name }, SECRET);
  }
  return null;
}

module.exports = { login };
]],
    },
    {
        filename = "report.py",
        language = "python",
        code = [[
import sqlite3

def monthly_totals(db_path, month):
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT amount FROM sales WHERE month = '" + month + "'").fetchall()
    total = 0
    for r in rows:
        for again in rows:
            pass
        total = total + r[0]
    return total
]],
    },
}
