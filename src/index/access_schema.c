/* SPDX-License-Identifier: Apache-2.0 */
/* access_schema.c - schema version 2 of the SQLite index: the access tables (issue 5).
 *
 * A version-1 index gets these by migration when it is opened (sqlite.c, inside its BEGIN
 * IMMEDIATE, so a crash leaves version 1 intact); a new index gets version 1 then these.  No
 * column holds patient data: patients and studies appear only as 32-byte blind indexes made by
 * the vault, users by account name; `reason` and `detail` are operator or program text.
 */
#include "common/dv.h"
#include "index/sqlite_int.h"

#include "common/banned.h"

static const char MIGRATE_2[] =
    /* accounts: the version-1 users table gains the columns of issue 5 */
    "ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE users ADD COLUMN team TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE users ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN lift_admin TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE users ADD COLUMN lift_privacy TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE users ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN last_login INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN last_active INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN totp_seal BLOB;"
    "ALTER TABLE users ADD COLUMN totp_on INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN totp_last INTEGER NOT NULL DEFAULT 0;"
    "UPDATE users SET roles = role WHERE roles = '';"
    "CREATE TABLE session("
    " id INTEGER PRIMARY KEY,"
    " token_hash BLOB NOT NULL UNIQUE CHECK(length(token_hash) = 32),"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " purpose TEXT NOT NULL,"
    " client TEXT NOT NULL,"
    " mfa INTEGER NOT NULL,"
    " created INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX session_user ON session(user_id);"
    "CREATE TABLE care_grant("
    " id INTEGER PRIMARY KEY,"
    " grantee_group INTEGER NOT NULL CHECK(grantee_group IN (0, 1)),"
    " grantee TEXT NOT NULL,"
    " target_patient INTEGER NOT NULL CHECK(target_patient IN (0, 1)),"
    " target_bi BLOB NOT NULL CHECK(length(target_bi) = 32),"
    " source TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " created_by TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX care_grant_grantee ON care_grant(grantee_group, grantee);"
    "CREATE TABLE access_log("
    " id INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " user TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " outcome INTEGER NOT NULL,"
    " reason INTEGER NOT NULL,"
    " study_bi BLOB CHECK(study_bi IS NULL OR length(study_bi) = 32),"
    " patient_bi BLOB CHECK(patient_bi IS NULL OR length(patient_bi) = 32),"
    " bytes INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX access_log_user_time ON access_log(user, time);"
    "CREATE TABLE approval("
    " id INTEGER PRIMARY KEY,"
    " requester TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " target_bi BLOB NOT NULL CHECK(length(target_bi) = 32),"
    " studies INTEGER NOT NULL,"
    " patients INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " decided_by TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " decided INTEGER NOT NULL DEFAULT 0,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX approval_requester ON approval(requester, action, state);"
    "CREATE TABLE alert("
    " id INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " user TEXT NOT NULL,"
    " rule TEXT NOT NULL,"
    " severity INTEGER NOT NULL,"
    " detail TEXT NOT NULL,"
    " acked_by TEXT NOT NULL DEFAULT '',"
    " acked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX alert_user_rule ON alert(user, rule, time);"
    "CREATE TABLE vip(patient_bi BLOB PRIMARY KEY CHECK(length(patient_bi) = 32)) WITHOUT ROWID;";

dv_err index_sq_access_migrate(index_db *db, dv_errinfo *ei)
{
    int rc = sqlite3_exec(sq_of(db)->h, MIGRATE_2, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return index_sq_fail(db, rc, "migrate to schema version 2", ei);
    return DV_OK;
}
