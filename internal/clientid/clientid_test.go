package clientid

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithAndFrom(t *testing.T) {
	assert.Empty(t, From(context.Background()))
	ctx := With(context.Background(), "http-client:127.0.0.1")
	assert.Equal(t, "http-client:127.0.0.1", From(ctx))
	assert.Equal(t, "http-client:127.0.0.1", From(context.WithoutCancel(ctx)), "survives mcp-go's detached contexts")
}
