//! Integration scenarios live in `tests/`, one file per family.
