// The SQL files of this folder, compiled into the binary by SwiftPM
// (`.embedInCode` in Package.swift), so an installed `recovery-server` needs
// no resource folder beside it. List each new file here and in Package.swift;
// a test fails when a .sql file in this folder is missing from the list.
public enum EmbeddedMigrations {
    /// (file name, SQL text) in the order they apply.
    public static let files: [(name: String, sql: String)] = [
        ("0001_initial_schema.sql", String(decoding: PackageResources._001_initial_schema_sql, as: UTF8.self)),
        ("0002_lookup_indexes.sql", String(decoding: PackageResources._002_lookup_indexes_sql, as: UTF8.self)),
        ("0003_facility_patient_counts.sql", String(decoding: PackageResources._003_facility_patient_counts_sql, as: UTF8.self)),
        ("0004_audit_patient_sets.sql", String(decoding: PackageResources._004_audit_patient_sets_sql, as: UTF8.self)),
        ("0005_patient_list_cards.sql", String(decoding: PackageResources._005_patient_list_cards_sql, as: UTF8.self)),
        ("0006_audit_seq_never_reused.sql", String(decoding: PackageResources._006_audit_seq_never_reused_sql, as: UTF8.self)),
        ("0007_account_security.sql", String(decoding: PackageResources._007_account_security_sql, as: UTF8.self)),
        ("0008_access_policy.sql", String(decoding: PackageResources._008_access_policy_sql, as: UTF8.self)),
        ("0009_realtime_events.sql", String(decoding: PackageResources._009_realtime_events_sql, as: UTF8.self)),
        ("0010_messaging.sql", String(decoding: PackageResources._010_messaging_sql, as: UTF8.self)),
        ("0011_crisis_and_announcements.sql", String(decoding: PackageResources._011_crisis_and_announcements_sql, as: UTF8.self)),
        ("0012_facility_wide_sync_changes.sql", String(decoding: PackageResources._012_facility_wide_sync_changes_sql, as: UTF8.self)),
        ("0013_assessments.sql", String(decoding: PackageResources._013_assessments_sql, as: UTF8.self)),
        ("0014_treatment_plans.sql", String(decoding: PackageResources._014_treatment_plans_sql, as: UTF8.self)),
        ("0015_consents_and_disclosures.sql", String(decoding: PackageResources._015_consents_and_disclosures_sql, as: UTF8.self)),
        ("0016_documents.sql", String(decoding: PackageResources._016_documents_sql, as: UTF8.self)),
        ("0017_federation_delivery.sql", String(decoding: PackageResources._017_federation_delivery_sql, as: UTF8.self)),
        ("0018_federation_approval_and_privacy.sql", String(decoding: PackageResources._018_federation_approval_and_privacy_sql, as: UTF8.self)),
        ("0019_master_key_rotation.sql", String(decoding: PackageResources._019_master_key_rotation_sql, as: UTF8.self)),
        ("0020_key_rotation_checks.sql", String(decoding: PackageResources._020_key_rotation_checks_sql, as: UTF8.self)),
        ("0021_federation_days.sql", String(decoding: PackageResources._021_federation_days_sql, as: UTF8.self)),
    ]
}
