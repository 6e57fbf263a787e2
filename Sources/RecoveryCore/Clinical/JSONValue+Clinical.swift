extension JSONValue {
    /// A string or null.
    static func text(_ value: String?) -> JSONValue {
        guard let value else { return .null }
        return .string(value)
    }

    /// An integer or null.
    static func int(_ value: Int?) -> JSONValue {
        guard let value else { return .null }
        return .integer(value)
    }
}

import GRDB

extension Row {
    /// A text column as a JSON string or null.
    func json(text column: String) -> JSONValue {
        JSONValue.text(self[column] as String?)
    }

    /// An integer column as a JSON integer or null.
    func json(int column: String) -> JSONValue {
        JSONValue.int(self[column] as Int?)
    }

    /// A 0/1 column as a JSON boolean.
    func json(bool column: String) -> JSONValue {
        .bool((self[column] as Int? ?? 0) != 0)
    }
}
