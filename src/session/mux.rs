//! Placeholder: the mux demultiplexer (being written).
