package events

// registerAll is the catalogue of every event the product writes. An event
// type that is not listed here cannot be read back, so tests build a
// registry and round-trip every entry.
func registerAll(r *Registry) {
	r.Register(UserCreated{})
	r.Register(UserBasicAuthSet{})
}
