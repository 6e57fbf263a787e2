#ifndef RECOVERY_CSQLITETUNING_H
#define RECOVERY_CSQLITETUNING_H

/// Turns off SQLite's global memory statistics before SQLite initialises.
/// With statistics on (the default of Debian's build, which also has no
/// lookaside allocator), every allocation of every connection takes one
/// process-wide mutex, so concurrent readers queue behind each other.
/// Returns SQLITE_OK, or SQLITE_MISUSE when SQLite was already initialised
/// (then nothing changes).
int recovery_sqlite_disable_memstatus(void);

#endif
