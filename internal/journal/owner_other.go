//go:build !unix

package journal

// processAlive cannot tell on this system, so every owner counts as alive
// and lost intents are found by their age alone.
func processAlive(int) bool { return true }
