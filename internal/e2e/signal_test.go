package e2e

import "os"

// interrupt asks the server to shut down gracefully, as Ctrl-C does.
var interrupt = os.Interrupt
