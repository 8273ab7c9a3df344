// Typed access to the webview's host: the one place that calls
// acquireVsCodeApi (it may be called only once per page).

interface VsCodeApi<TOut, TState> {
  postMessage(message: TOut): void;
  getState(): TState | undefined;
  setState(state: TState): void;
}

declare function acquireVsCodeApi<TOut, TState>(): VsCodeApi<TOut, TState>;

export interface HostChannel<TIn, TOut, TState> {
  post(message: TOut): void;
  onMessage(handler: (message: TIn) => void): void;
  getState(): TState | undefined;
  setState(state: TState): void;
}

export function connectToHost<TIn, TOut, TState>(): HostChannel<TIn, TOut, TState> {
  const api = acquireVsCodeApi<TOut, TState>();
  return {
    post: (message) => api.postMessage(message),
    onMessage: (handler) => window.addEventListener('message', (e: MessageEvent<TIn>) => handler(e.data)),
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}
