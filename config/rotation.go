package config

import "time"

// RotateSecret sets d's secret rotation (PreviousSecretKey, SecretRotatedAt) for an apply of d
// at `at` over stored, the definition as the store holds it (nil: there is none, or its secrets
// cannot be read). Both stores call it, so the rule is written once (CONTRACT.md section 4):
//   - a changed secret_key makes the stored key the previous one, from `at` on, unless d's
//     secret_rotation_grace is 0;
//   - the same secret_key keeps a previous key whose grace, under d's secret_rotation_grace,
//     has not run out at `at`, and drops one whose grace has (or that equals the key itself).
//
// Whatever d held in those fields (a JSON apply may carry them) is replaced.
func (d *Definition) RotateSecret(stored *Definition, at time.Time) {
	d.PreviousSecretKey, d.SecretRotatedAt, d.PreviousSecretUntil = "", nil, nil
	if stored == nil || d.SecretRotationGrace <= 0 {
		return
	}
	if stored.SecretKey != d.SecretKey {
		if stored.SecretKey != "" {
			t := at
			d.PreviousSecretKey, d.SecretRotatedAt = stored.SecretKey, &t
		}
		return
	}
	if stored.PreviousSecretKey == "" || stored.PreviousSecretKey == d.SecretKey || stored.SecretRotatedAt == nil {
		return
	}
	if at.Before(stored.SecretRotatedAt.Add(d.SecretRotationGrace.D())) {
		t := *stored.SecretRotatedAt
		d.PreviousSecretKey, d.SecretRotatedAt = stored.PreviousSecretKey, &t
	}
}

// PreviousSecretEnds returns when the previous secret key stops signing, or false when there is
// no previous key.
func (d *Definition) PreviousSecretEnds() (time.Time, bool) {
	if d.PreviousSecretKey == "" || d.SecretRotatedAt == nil {
		return time.Time{}, false
	}
	return d.SecretRotatedAt.Add(d.SecretRotationGrace.D()), true
}

// PreviousSecretAt returns the key that signs beside SecretKey at now: the previous key while
// the grace of the last rotation runs, else "". Every attempt, by the pipeline or by a resend,
// is signed with SecretKey and, when this is not empty, with it too.
func (d *Definition) PreviousSecretAt(now time.Time) string {
	if end, ok := d.PreviousSecretEnds(); ok && now.Before(end) {
		return d.PreviousSecretKey
	}
	return ""
}
