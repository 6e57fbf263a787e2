/// Session ids whose access tokens must be refused before they expire
/// (logout, password change, deactivation, stolen-token detection), loaded
/// from the database at start-up so a restart forgets nothing.
public typealias RevokedSessions = IDSet
