/// What the writer guide's example quiesces: a database that can hold its writes. (The
/// example itself is main.swift, the guide's text verbatim; a test keeps them equal.)
actor ShopDatabase {
    private(set) var holding = false
    func holdWrites() throws { holding = true }
    func releaseWrites() throws { holding = false }
}

/// The database the example writer holds.
let db = ShopDatabase()
