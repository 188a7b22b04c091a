declare module 'd3-flame-graph' {
  interface FlameGraph {
    (selection: unknown): void;
    width(w: number): FlameGraph;
    cellHeight(h: number): FlameGraph;
    transitionDuration(ms: number): FlameGraph;
    minFrameSize(px: number): FlameGraph;
  }
  export function flamegraph(): FlameGraph;
}
