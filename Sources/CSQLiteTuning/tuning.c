#include <sqlite3.h>
#include "CSQLiteTuning.h"

int recovery_sqlite_tune(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 1024 * 1024);
}
