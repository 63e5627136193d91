-- A larger input for webapp-creator: a small online shop.
return {
    project = {name = "ShopLite", description = "An online shop for an independent bookstore", version = "0.1.0"},
    requirements = [[
An online bookstore where customers browse and search books, keep a cart, check out with a
card payment and follow their orders; staff manage the catalogue and stock.]],
    technical = {frontend = "React", backend = "Node.js with Express", database = "PostgreSQL"},
    entities = {
        {name = "book", fields = {{"title", "text"}, {"author", "text"}, {"price", "decimal"}, {"stock", "integer"}}},
        {name = "customer", fields = {{"name", "text"}, {"email", "text"}}},
        {name = "order", fields = {{"customer_id", "integer"}, {"total", "decimal"}, {"status", "text"}}},
        {name = "order_item", fields = {{"order_id", "integer"}, {"book_id", "integer"}, {"quantity", "integer"}}},
        {name = "review", fields = {{"book_id", "integer"}, {"customer_id", "integer"}, {"rating", "integer"}, {"body", "text"}}},
    },
}
