//! dynasim-server
