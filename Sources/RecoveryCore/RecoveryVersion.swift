/// The appliance's release version, reported by `--version` and `/health`.
public enum RecoveryVersion {
    public static let current = "0.1.0"
}
