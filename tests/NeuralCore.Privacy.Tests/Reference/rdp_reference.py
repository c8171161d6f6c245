"""Independent reference values for the RDP accountant tests.

A_alpha = E_{z~N(0,s^2)}[((1-q) + q*exp((2z-1)/(2 s^2)))^alpha] is integrated numerically with mpmath at 40
digits (no binomial expansion, no series), so it checks both the integer and the fractional code paths.
Run: python3 rdp_reference.py  (needs python3-mpmath).
"""
import mpmath as mp

mp.mp.dps = 40


def log_a(q, s, alpha):
    q, s, alpha = mp.mpf(q), mp.mpf(s), mp.mpf(alpha)
    def f(z):
        dens = mp.exp(-z * z / (2 * s * s)) / (s * mp.sqrt(2 * mp.pi))
        return dens * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * s * s))) ** alpha
    # The integrand's mass lies between the two Gaussians' bulk and the tilted peak near alpha; split the range.
    peak = alpha  # exp((2z-1)/(2s^2))^alpha * N(0,s^2) peaks near z = alpha
    pts = [-mp.inf, -20 * s, 0, 1, peak, peak + 20 * s, mp.inf]
    pts = sorted(set(pts))
    return mp.log(mp.quad(f, pts))


def rdp(q, s, alpha):
    return log_a(q, s, alpha) / (mp.mpf(alpha) - 1)


cases = [(0.01, 1.0, 2), (0.01, 1.0, 2.5), (0.01, 1.0, 10), (0.01, 1.0, 10.7), (0.05, 2.0, 32), (0.05, 2.0, 4.3),
         (256 / 60000, 1.1, 1.5), (256 / 60000, 1.1, 20), (0.1, 0.8, 3.3), (0.1, 0.8, 7)]
for q, s, a in cases:
    print(f"({q!r}, {s}, {a}, {mp.nstr(rdp(q, s, a), 17)}),")
