/*
 * sqlite_internal.h - shared between the files of the SQLite backend.
 */
#ifndef KZ_STORE_SQLITE_INTERNAL_H
#define KZ_STORE_SQLITE_INTERNAL_H

/* The newest schema version, and the SQL of migration version (1-based). */
int kz_sqlite_latest_version(void);
const char *kz_sqlite_migration(int version);

/* The application_id every Kizuna database carries ('KZNA'). */
#define KZ_SQLITE_APP_ID 1264209473

#endif
