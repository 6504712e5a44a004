"""DUIS messages: identifiers and namespaces (model), safe parsing (parse), XSD validation (schema)."""
