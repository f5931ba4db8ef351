/**
 * Selection of grid items by click, shift-click (range from the anchor), ctrl/cmd-click (toggle), drag rectangle
 * and keyboard. Items are addressed by index into the current order; the set holds keys (file names) so that a
 * selection survives re-sorting.
 */
export interface Modifiers {
  shift?: boolean;
  toggle?: boolean;
}

export class Selection {
  selected = new Set<string>();
  anchor = -1;
  focus = -1;

  constructor(private order: readonly string[] = []) {}

  setOrder(order: readonly string[]): void {
    this.order = order;
    const keep = new Set(order);
    for (const k of this.selected) if (!keep.has(k)) this.selected.delete(k);
    if (this.focus >= order.length) this.focus = order.length - 1;
    if (this.anchor >= order.length) this.anchor = this.focus;
  }

  has(key: string): boolean {
    return this.selected.has(key);
  }

  get size(): number {
    return this.selected.size;
  }

  /** Selected keys in the current order. */
  keys(): string[] {
    return this.order.filter((k) => this.selected.has(k));
  }

  clear(): void {
    this.selected.clear();
  }

  all(): void {
    this.selected = new Set(this.order);
  }

  click(index: number, m: Modifiers = {}): void {
    const key = this.order[index];
    if (key === undefined) return;
    if (m.shift && this.anchor >= 0) {
      if (!m.toggle) this.selected.clear();
      this.addRange(this.anchor, index);
    } else if (m.toggle) {
      if (this.selected.has(key)) this.selected.delete(key);
      else this.selected.add(key);
      this.anchor = index;
    } else {
      this.selected = new Set([key]);
      this.anchor = index;
    }
    this.focus = index;
  }

  /** Drag rectangle: replaces the selection (or adds to `base` with a modifier). */
  drag(indices: readonly number[], base?: ReadonlySet<string>): void {
    this.selected = new Set(base ?? []);
    for (const i of indices) {
      const k = this.order[i];
      if (k !== undefined) this.selected.add(k);
    }
  }

  /** Moves the focus by `delta` items (arrows: ±1, ±columns); with shift, extends from the anchor. */
  move(delta: number, m: Modifiers = {}): number {
    if (this.order.length === 0) return -1;
    const from = this.focus < 0 ? (delta > 0 ? -1 : this.order.length) : this.focus;
    const to = Math.min(this.order.length - 1, Math.max(0, from + delta));
    if (m.shift) {
      if (this.anchor < 0) this.anchor = Math.max(0, from);
      this.selected.clear();
      this.addRange(this.anchor, to);
      this.focus = to;
    } else {
      this.click(to);
    }
    return to;
  }

  /** Where the focus should go after the selected items are removed: the first unselected item after them. */
  focusAfterRemoval(): number {
    const keys = this.order;
    let last = -1;
    keys.forEach((k, i) => {
      if (this.selected.has(k)) last = i;
    });
    let remainingBefore = 0;
    for (let i = 0; i <= last; i++) if (!this.selected.has(keys[i] as string)) remainingBefore++;
    const remaining = keys.length - this.selected.size;
    return remaining === 0 ? -1 : Math.min(remainingBefore, remaining - 1);
  }

  private addRange(a: number, b: number): void {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    for (let i = lo; i <= hi; i++) {
      const k = this.order[i];
      if (k !== undefined) this.selected.add(k);
    }
  }
}
