//! dynasim: the turmoil driver, CLI and public test API.
