// Package dashscope is a client for Alibaba Cloud DashScope's asynchronous
// video-editing task API (the wan2.1-vace-plus model, "VACE").
//
// A job is submitted with [Client.Submit] using one of the typed requests
// ([ImageReference], [VideoRepainting], [VideoEdit], [VideoExtension],
// [VideoOutpainting]), which returns a task id at once; the video takes
// minutes. [Client.GetTask], [Client.ListTasks] and [Client.CancelTask] manage
// tasks, and [Client.Wait] polls a task until it ends, sharing one poller
// between all waiters on the same task.
//
// The client is careful with the account's money and limits: read-only calls
// retry transient failures, a submission is retried only when the service has
// certainly not accepted it (HTTP 429, or a connection that was never made),
// and every call passes a client-side rate limiter. Failures are [*APIError]
// values (or [*SubmitUncertainError] when a task may exist); branch on them
// with errors.As or the Is* helpers, never on message text.
//
// Key, API root and model must belong to one region. [ClassifyRoot] tells the
// vendor's roots (shared and workspace domains, each in a [Region]) from
// custom ones such as proxies, and [CheckModel] refuses a model of another
// region on a vendor root; a custom root has no region and is not checked.
package dashscope
