/**
 * Exact rational numbers on bigint, always in lowest terms with a positive denominator, so that
 * two equal values have equal fields and the synthetic world never rounds.
 */
export class Rational {
  /** Numerator; carries the sign. */
  readonly num: bigint;
  /** Denominator; always > 0. */
  readonly den: bigint;

  private constructor(num: bigint, den: bigint) {
    this.num = num;
    this.den = den;
  }

  /** `n / d` reduced; throws on a zero denominator. */
  static of(n: bigint | number, d: bigint | number = 1n): Rational {
    let num = BigInt(n);
    let den = BigInt(d);
    if (den === 0n) throw new RangeError("Rational: zero denominator");
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    const g = gcdBig(num < 0n ? -num : num, den);
    return g > 1n ? new Rational(num / g, den / g) : new Rational(num, den);
  }

  static readonly zero = Rational.of(0);
  static readonly one = Rational.of(1);

  add(o: Rational): Rational {
    return Rational.of(this.num * o.den + o.num * this.den, this.den * o.den);
  }

  sub(o: Rational): Rational {
    return Rational.of(this.num * o.den - o.num * this.den, this.den * o.den);
  }

  mul(o: Rational): Rational {
    return Rational.of(this.num * o.num, this.den * o.den);
  }

  div(o: Rational): Rational {
    if (o.num === 0n) throw new RangeError("Rational: division by zero");
    return Rational.of(this.num * o.den, this.den * o.num);
  }

  neg(): Rational {
    return new Rational(-this.num, this.den);
  }

  abs(): Rational {
    return this.num < 0n ? this.neg() : this;
  }

  isInteger(): boolean {
    return this.den === 1n;
  }

  isNegative(): boolean {
    return this.num < 0n;
  }

  equals(o: Rational): boolean {
    return this.num === o.num && this.den === o.den;
  }

  /** -1, 0 or 1. */
  compare(o: Rational): number {
    const d = this.num * o.den - o.num * this.den;
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }

  /** Plain text: `7`, `-7`, `7/3`, `-7/3`. */
  toString(): string {
    return this.den === 1n ? this.num.toString() : `${this.num}/${this.den}`;
  }

  /** Canonical LaTeX: `7`, `\frac{7}{3}`, `-\frac{1}{2}` (sign outside the fraction). */
  toLatex(): string {
    if (this.den === 1n) return this.num.toString();
    const sign = this.num < 0n ? "-" : "";
    const n = this.num < 0n ? -this.num : this.num;
    return `${sign}\\frac{${n}}{${this.den}}`;
  }

  /**
   * Mixed-number LaTeX for a non-integer of absolute value above 1: `2\frac{1}{3}`,
   * `-2\frac{1}{3}`; otherwise the same as `toLatex()`.
   */
  toMixedLatex(): string {
    const n = this.num < 0n ? -this.num : this.num;
    if (this.den === 1n || n < this.den) return this.toLatex();
    const sign = this.num < 0n ? "-" : "";
    return `${sign}${n / this.den}\\frac{${n % this.den}}{${this.den}}`;
  }
}

/** Greatest common divisor of two non-negative bigints (gcd(0, 0) = 0). */
export function gcdBig(a: bigint, b: bigint): bigint {
  while (b !== 0n) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

const INT = String.raw`\d+`;
const LATEX_FORMS: Array<[RegExp, (m: RegExpMatchArray) => Rational]> = [
  // 7, -7
  [new RegExp(`^(-?)(${INT})$`), (m) => Rational.of(BigInt(m[1] + m[2]))],
  // \frac{7}{3}, -\frac{7}{3}, \dfrac{7}{3}
  [
    new RegExp(String.raw`^(-?)\\d?frac\{(${INT})\}\{(${INT})\}$`),
    (m) => Rational.of(BigInt(m[1] + m[2]), BigInt(m[3])),
  ],
  // 2\frac{1}{3}, -2\frac{1}{3}
  [
    new RegExp(String.raw`^(-?)(${INT})\\d?frac\{(${INT})\}\{(${INT})\}$`),
    (m) => {
      const v = Rational.of(BigInt(m[2])).add(Rational.of(BigInt(m[3]), BigInt(m[4])));
      return m[1] === "-" ? v.neg() : v;
    },
  ],
  // 7/3, -7/3
  [new RegExp(`^(-?)(${INT})/(${INT})$`), (m) => Rational.of(BigInt(m[1] + m[2]), BigInt(m[3]))],
];

/**
 * Parses the answer forms the synthetic world writes (integers, `\frac{a}{b}`, mixed numbers
 * `a\frac{b}{c}`, `a/b`, each optionally negative). Returns null for anything else. This is the
 * world's own checker, deliberately narrow; general answer equivalence belongs to the grader.
 */
export function parseRationalLatex(text: string): Rational | null {
  const s = text.replace(/\s+/g, "");
  for (const [re, make] of LATEX_FORMS) {
    const m = s.match(re);
    if (m) {
      try {
        return make(m);
      } catch {
        return null;
      }
    }
  }
  return null;
}
