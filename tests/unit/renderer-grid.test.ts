/**
 * The faces grid's windowing math, selection logic, sort and the loss chart helpers. With 10,000 faces the
 * window holds only the visible rows plus overscan, whatever the scroll position.
 */
import { describe, expect, it } from 'vitest';
import { gridWindow, indexAt, indicesInRect, scrollToRow, columnsFor } from '../../src-renderer/lib/virtual-grid';
import { Selection } from '../../src-renderer/lib/selection';
import { sortFaces } from '../../src-renderer/lib/faces';
import { ema, extent, linePath, downsample } from '../../src-renderer/lib/chart';
import { formatDuration, joinPath } from '../../src-renderer/lib/format';

const names = (n: number) => Array.from({ length: n }, (_, i) => `v_${String(i).padStart(6, '0')}_0.png`);

describe('virtual grid window', () => {
  const base = { count: 10_000, width: 1000, height: 600, cell: 96, gap: 4, overscan: 2 };

  it('renders only the visible rows plus overscan for 10,000 items, at any scroll position', () => {
    const cols = columnsFor(1000, 96, 4);
    expect(cols).toBe(10);
    const visibleRows = Math.ceil(600 / 100) + 1;
    for (const scrollTop of [0, 12_345, 500_000, 999_999]) {
      const w = gridWindow({ ...base, scrollTop });
      const rendered = w.endIndex - w.startIndex;
      expect(rendered).toBeLessThanOrEqual((visibleRows + 2 * 2) * cols);
      expect(rendered).toBeGreaterThan(0);
      expect(w.totalHeight).toBe(1000 * 100 - 4);
    }
    const end = gridWindow({ ...base, scrollTop: 10_000_000 });
    expect(end.endIndex).toBe(10_000); // clamped at the bottom: the last face is rendered
  });

  it('puts rows at offsetY and covers the viewport', () => {
    const w = gridWindow({ ...base, scrollTop: 2_050 });
    expect(w.offsetY).toBe(w.startRow * 100);
    expect(w.startRow * 100).toBeLessThanOrEqual(2_050);
    expect(w.endRow * 100).toBeGreaterThanOrEqual(2_050 + 600);
  });

  it('maps points and rectangles to items', () => {
    expect(indexAt(5, 5, 100, 10, 96, 4)).toBe(0);
    expect(indexAt(98, 5, 100, 10, 96, 4)).toBe(-1); // in the gap
    expect(indexAt(105, 105, 100, 10, 96, 4)).toBe(11);
    expect(indexAt(5, 100_000, 100, 10, 96, 4)).toBe(-1);
    expect(indicesInRect({ x0: 50, y0: 50, x1: 150, y1: 150 }, 100, 10, 96, 4)).toEqual([0, 1, 10, 11]);
    expect(indicesInRect({ x0: 150, y0: 150, x1: 50, y1: 50 }, 100, 10, 96, 4)).toEqual([0, 1, 10, 11]);
  });

  it('scrolls a row into view only when needed', () => {
    expect(scrollToRow(0, 500, 600, 100, 96)).toBe(0);
    expect(scrollToRow(6, 0, 600, 100, 96)).toBe(600 + 96 - 600);
    expect(scrollToRow(2, 0, 600, 100, 96)).toBe(0);
  });
});

describe('selection', () => {
  const order = names(20);

  it('click selects one; ctrl toggles; shift selects the range from the anchor', () => {
    const s = new Selection(order);
    s.click(2);
    expect(s.keys()).toEqual([order[2]]);
    s.click(5, { shift: true });
    expect(s.keys()).toEqual(order.slice(2, 6));
    s.click(0, { shift: true });
    expect(s.keys()).toEqual(order.slice(0, 3)); // range from the same anchor
    s.click(10, { toggle: true });
    expect(s.size).toBe(4);
    s.click(10, { toggle: true });
    expect(s.size).toBe(3);
  });

  it('drag replaces, or adds to a base set', () => {
    const s = new Selection(order);
    s.click(19);
    s.drag([0, 1, 2]);
    expect(s.keys()).toEqual(order.slice(0, 3));
    s.drag([5], new Set([order[19] as string]));
    expect(s.keys()).toEqual([order[5], order[19]]);
  });

  it('keyboard moves the focus and shift extends; clamps at the ends', () => {
    const s = new Selection(order);
    expect(s.move(1)).toBe(0);
    expect(s.move(10, { shift: true })).toBe(10);
    expect(s.size).toBe(11);
    expect(s.move(100)).toBe(19);
    expect(s.keys()).toEqual([order[19]]);
    expect(s.move(-1000)).toBe(0);
  });

  it('survives re-ordering and drops removed keys; focus goes to the next face after a delete', () => {
    const s = new Selection(order);
    s.click(3);
    s.click(5, { shift: true });
    expect(s.focusAfterRemoval()).toBe(3);
    s.setOrder([...order].reverse());
    expect(s.size).toBe(3);
    s.setOrder(order.slice(4));
    expect(s.size).toBe(2);
  });
});

describe('sorting faces', () => {
  it('puts the worst first for each metric and faces without metadata last', () => {
    const n = ['a', 'b', 'c', 'd'];
    const meta = {
      a: { blur: 50, yaw: 5, distance: 0.1, size: 90 },
      b: { blur: 5, yaw: -40, distance: 0.3, size: 40 },
      c: { blur: 20, yaw: 10, distance: 0.02, size: 200 },
    };
    expect(sortFaces(n, 'blur', meta)).toEqual(['b', 'c', 'a', 'd']);
    expect(sortFaces(n, 'yaw', meta)).toEqual(['b', 'c', 'a', 'd']);
    expect(sortFaces(n, 'distance', meta)).toEqual(['b', 'a', 'c', 'd']);
    expect(sortFaces(n, 'size', meta)).toEqual(['b', 'a', 'c', 'd']);
    expect(sortFaces(n, 'name', meta)).toEqual(n);
  });
});

describe('loss chart helpers', () => {
  it('EMA is debiased (starts at the first value) and smooths', () => {
    const s = ema([1, 1, 1, 0, 0, 0], 0.5);
    expect(s[0]).toBeCloseTo(1);
    expect(s[3]).toBeGreaterThan(0);
    expect(s[3]).toBeLessThan(1);
    expect(ema([3, 5], 0)).toEqual([3, 5]);
  });

  it('draws a path inside the box and downsamples long runs', () => {
    const pts = [
      { x: 0, y: 1 },
      { x: 10, y: 0 },
    ];
    const d = linePath(pts, extent([pts]), 100, 50);
    expect(d).toBe('M0.0 0.0 L100.0 50.0');
    // A smoothed point a rounding error above the raw maximum still draws at 0.0, not "-0.0"
    // (CI saw "M0.0 -0.0 L..." from a debiased EMA).
    const top = { x0: 0, x1: 1, y0: 0.1, y1: 0.3 };
    expect(linePath([{ x: 0, y: 0.30000000000000004 }], top, 100, 200)).toBe('M0.0 0.0');
    const many = Array.from({ length: 10_000 }, (_, i) => i);
    const ds = downsample(many, 500);
    expect(ds).toHaveLength(500);
    expect(ds[ds.length - 1]).toBe(9_999);
  });
});

describe('format', () => {
  it('formats durations and joins paths', () => {
    expect(formatDuration(undefined)).toBe('–');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(joinPath('/p/', 'faces/A', 'x.png')).toBe('/p/faces/A/x.png');
  });
});
