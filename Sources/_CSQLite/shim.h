#include <sqlite3.h>

/// SQLITE_TRANSIENT (a cast macro Swift cannot import): SQLite copies the bound text before returning.
static inline sqlite3_destructor_type medvol_sqlite_transient(void) { return SQLITE_TRANSIENT; }
