package main

import "context"

func (b *bench) coldStart(ctx context.Context) error { return nil }
func (b *bench) latency(ctx context.Context) error   { return nil }
func (b *bench) pipeline(ctx context.Context) error  { return nil }
