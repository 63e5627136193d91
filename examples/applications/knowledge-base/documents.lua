-- The documents knowledge-base starts from, the questions it answers, and the note it adds.
return {
    documents = {
        {title = "Lua tables", content = "Tables are Lua's only data structure. A table with keys 1..n is used as an array, and the length operator # gives n. Any other keys make it a dictionary. Tables are passed by reference."},
        {title = "Coroutines in Lua", content = "A coroutine is created with coroutine.create and run with coroutine.resume; it gives control back with coroutine.yield. Coroutines let a function pause in the middle and continue later, which suits generators and cooperative tasks."},
        {title = "SQLite write-ahead logging", content = "In WAL mode SQLite appends changes to a separate -wal file, so readers do not block the writer and the writer does not block readers. A checkpoint copies the WAL back into the database file."},
        {title = "Retrieval-augmented generation", content = "RAG retrieves passages related to a question from a document index and gives them to a language model, so its answer can rely on those facts. Chunk size, embedding model and the number of passages retrieved decide the quality."},
    },
    questions = {
        "How do readers and writers interact in SQLite WAL mode?",
        "What is a coroutine good for?",
        "Which Lua data structure works as an array?",
    },
    update = {title = "Lua metatables", content = "A metatable changes how a Lua table behaves: __index supplies missing keys, __newindex intercepts assignments and __call makes a table callable. setmetatable attaches one to a table."},
}
