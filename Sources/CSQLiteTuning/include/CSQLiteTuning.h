#ifndef RECOVERY_CSQLITETUNING_H
#define RECOVERY_CSQLITETUNING_H

/// SQLite's process-wide settings, applied before SQLite initialises
/// (sqlite3_config is variadic, so Swift cannot call it):
///
/// - Memory statistics off. With statistics on (the default of Debian's
///   build, which also has no lookaside allocator), every allocation of
///   every connection takes one process-wide mutex, so concurrent readers
///   queue behind each other.
/// - Savepoint journals stay in memory up to 1 MiB before spilling to a
///   temporary file (SQLite's default: 64 KiB). A sync push runs each item
///   in its own savepoint, and SQLite first copies every page the item
///   changes (about 17 with the indexes) into that journal: with the
///   default, most items spilled, and the copies went through a temporary
///   file at some 70 KB per item, ten times the bytes of the WAL. The
///   in-memory journal is one block of this size, taken when an item first
///   needs it and returned when its savepoint ends. (`PRAGMA temp_store =
///   MEMORY` is not the answer: it keeps the journal as a chain of 1 KiB
///   pieces that SQLite walks from the start whenever a savepoint ends.)
///
/// Returns SQLITE_OK, or the first error (SQLITE_MISUSE when SQLite was
/// already initialised; then nothing changes).
int recovery_sqlite_tune(void);

#endif
