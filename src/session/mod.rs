//! Sans-IO session state machines: the mux demultiplexer and the
//! request/response call table.
//!
//! No sockets, no clocks, no runtime: a core is told what arrived
//! (`handle_*`), asked what to do next (`poll_*`), and given the current
//! time where it keeps deadlines. The async shells in
//! [`transport`](crate::transport) move bytes and wake tasks around them, so
//! every rule of spec mux §10 and reqres §9–§10 lives here, where unit tests
//! drive it step by step without a runtime.
//!
//! - [`mux`]: channel table, admission, per-channel queues under one byte
//!   budget, and the accounting of every frame received (delivered or
//!   discarded, exactly once).
//! - [`calls`]: pending-call table for a request/response client: ID
//!   allocation, exact matching, deadlines, fail-all on close, and the
//!   accounting of every call (answered, timed out or failed, exactly once).

pub mod calls;
pub mod mux;
