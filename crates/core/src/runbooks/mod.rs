//! Runbooks (issue 12): the library (the API's side), the worker's side of drafts ([`generation`]).

pub mod generation;
