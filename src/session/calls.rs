//! Placeholder: the request/response call table (being written).
