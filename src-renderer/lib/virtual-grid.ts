/**
 * Windowing math of the faces grid: which rows of a fixed-cell grid are visible for a scroll position, so the
 * grid renders only those (plus a few rows of overscan) whatever the number of items.
 */
export interface GridGeometry {
  /** Items in the grid. */
  count: number;
  /** Inner width of the scroll container, px. */
  width: number;
  /** Height of the scroll container, px. */
  height: number;
  scrollTop: number;
  /** Cell side, px. */
  cell: number;
  /** Gap between cells, px. */
  gap: number;
  /** Extra rows rendered above and below the viewport. */
  overscan?: number;
}

export interface GridWindow {
  columns: number;
  rowHeight: number;
  rows: number;
  totalHeight: number;
  /** First rendered row and the row after the last. */
  startRow: number;
  endRow: number;
  /** First rendered item and the item after the last. */
  startIndex: number;
  endIndex: number;
  /** translateY of the first rendered row. */
  offsetY: number;
}

export function columnsFor(width: number, cell: number, gap: number): number {
  return Math.max(1, Math.floor((width + gap) / (cell + gap)));
}

export function gridWindow(g: GridGeometry): GridWindow {
  const overscan = g.overscan ?? 2;
  const columns = columnsFor(g.width, g.cell, g.gap);
  const rowHeight = g.cell + g.gap;
  const rows = Math.ceil(g.count / columns);
  const totalHeight = Math.max(0, rows * rowHeight - g.gap);
  const maxScroll = Math.max(0, totalHeight - g.height);
  const top = Math.min(Math.max(0, g.scrollTop), maxScroll);
  const firstVisible = Math.floor(top / rowHeight);
  const lastVisible = Math.ceil((top + Math.max(0, g.height)) / rowHeight); // exclusive
  const startRow = Math.max(0, firstVisible - overscan);
  const endRow = Math.min(rows, lastVisible + overscan);
  return {
    columns,
    rowHeight,
    rows,
    totalHeight,
    startRow,
    endRow,
    startIndex: Math.min(g.count, startRow * columns),
    endIndex: Math.min(g.count, endRow * columns),
    offsetY: startRow * rowHeight,
  };
}

/** Index of the item under a point in content coordinates (scroll included), or -1 in a gap / past the end. */
export function indexAt(x: number, y: number, count: number, columns: number, cell: number, gap: number): number {
  if (x < 0 || y < 0) return -1;
  const col = Math.floor(x / (cell + gap));
  const row = Math.floor(y / (cell + gap));
  if (col >= columns || x - col * (cell + gap) > cell || y - row * (cell + gap) > cell) return -1;
  const i = row * columns + col;
  return i < count ? i : -1;
}

/** Indices of the items whose cells intersect a rectangle in content coordinates. */
export function indicesInRect(
  r: { x0: number; y0: number; x1: number; y1: number },
  count: number,
  columns: number,
  cell: number,
  gap: number,
): number[] {
  const x0 = Math.min(r.x0, r.x1),
    x1 = Math.max(r.x0, r.x1);
  const y0 = Math.min(r.y0, r.y1),
    y1 = Math.max(r.y0, r.y1);
  const step = cell + gap;
  const c0 = Math.max(0, Math.floor(x0 / step)),
    c1 = Math.min(columns - 1, Math.floor(x1 / step));
  const r0 = Math.max(0, Math.floor(y0 / step)),
    r1 = Math.floor(y1 / step);
  const out: number[] = [];
  for (let row = r0; row <= r1; row++) {
    for (let col = c0; col <= c1; col++) {
      // Skip when the rectangle only touches the gap after this cell.
      if (x0 > col * step + cell || y0 > row * step + cell) continue;
      const i = row * columns + col;
      if (i < count) out.push(i);
    }
  }
  return out;
}

/** scrollTop that brings row `row` into view (unchanged when it already is). */
export function scrollToRow(row: number, scrollTop: number, height: number, rowHeight: number, cell: number): number {
  const top = row * rowHeight;
  if (top < scrollTop) return top;
  if (top + cell > scrollTop + height) return top + cell - height;
  return scrollTop;
}
