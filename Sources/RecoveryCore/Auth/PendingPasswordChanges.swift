/// Staff whose password was set by an administrator (or generated at `init`)
/// and who must choose their own before anything else: until then every
/// route but the password change, sign-out and "who am I" answers 403
/// `password_change_required`. Loaded from `staff.must_change_password` at
/// start-up and kept in step with it.
public typealias PendingPasswordChanges = IDSet
