//! Push jobs.
