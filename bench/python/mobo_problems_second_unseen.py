"""The objective functions of the suite's second unseen part (`--half unseen-2`), all minimized.

Chosen on 2026-12-05, before any run, from kinds of problem the suite did not have: a cusp-shaped
valley (OKA2), a Pareto set that winds through the space (UF1), many disjoint Pareto sets with
one front (Omni-test) and a simulator whose time objective is a step function (Penicillin).
The engine of commit cf97df3 is the first to run them; `mobo_problems.py` holds their search
spaces, reference points and attainable hypervolumes.

Sources: OKA2 (Okabe, Jin, Olhofer, Sendhoff 2004), UF1 (Zhang, Zhou, Zhao, Suganthan, Liu,
Tiwari 2009, the CEC 2009 competition), Omni-test (Deb & Tiwari 2008; pymoo's `OmniTest`),
Penicillin (Liang & Lai 2021; BoTorch 0.18.1's `Penicillin`, checked against it by
`check_second_unseen.py`).
"""

import math


def oka2(x1, x2, x3):
    """OKA2: `f1 = x1`, `f2 = 1 − (x1 + π)²/(4π²) + |x2 − 5 cos x1|^⅓ + |x3 − 5 sin x1|^⅓` on
    `x1 ∈ [−π, π]`, `x2, x3 ∈ [−5, 5]`. The Pareto set is the helix `x2 = 5 cos x1`,
    `x3 = 5 sin x1`; the cube roots make `f2` a cusp there (infinite slope), so a smooth model
    sees a narrow valley."""
    f2 = (1.0 - (x1 + math.pi) ** 2 / (4.0 * math.pi**2)
          + abs(x2 - 5.0 * math.cos(x1)) ** (1.0 / 3.0) + abs(x3 - 5.0 * math.sin(x1)) ** (1.0 / 3.0))
    return [x1, f2]


def uf1(x):
    """UF1 on `n = len(x)` variables, `x1 ∈ [0, 1]`, the others in `[−1, 1]`:
    `f1 = x1 + 2/|J1| Σ_{j∈J1} (xj − sin(6πx1 + jπ/n))²` over the odd `j ≥ 3`,
    `f2 = 1 − √x1 + 2/|J2| Σ_{j∈J2} (…)²` over the even `j` (1-based). The Pareto set is the
    curve `xj = sin(6πx1 + jπ/n)`, which winds three times across the space; the front is
    `f2 = 1 − √f1`."""
    n = len(x)
    odd, even = [], []
    for j in range(2, n + 1):
        term = (x[j - 1] - math.sin(6.0 * math.pi * x[0] + j * math.pi / n)) ** 2
        (odd if j % 2 == 1 else even).append(term)
    return [x[0] + 2.0 * sum(odd) / len(odd), 1.0 - math.sqrt(x[0]) + 2.0 * sum(even) / len(even)]


def omni_test(x):
    """Omni-test: `f1 = Σ sin(π xi)`, `f2 = Σ cos(π xi)` on `xi ∈ [0, 6]`. Every xi in
    `[1, 1.5]`, `[3, 3.5]` or `[5, 5.5]` (with all xi at the same phase) is Pareto optimal, so
    `3^n` disjoint Pareto sets map to one front, the arc `n·(sin θ, cos θ)`, `θ ∈ [π, 3π/2]`."""
    return [sum(math.sin(math.pi * v) for v in x), sum(math.cos(math.pi * v) for v in x)]


# Penicillin's constants, as in Liang & Lai (2021) and BoTorch's `Penicillin`.
YIELD_BIOMASS, YIELD_PRODUCT = 0.45, 0.90
K1, K2 = 1e-10, 7e-5
MAINTENANCE = 0.014
CO2_GROWTH, CO2_BIOMASS, CO2_BASE = 0.143, 4e-7, 1e-4
GROWTH_RATE, GROWTH_SATURATION = 0.092, 0.15
PRODUCT_RATE, PRODUCT_SATURATION, PRODUCT_INHIBITION = 0.005, 0.0002, 0.10
HYDROLYSIS = 0.04
GROWTH_ARRHENIUS, GROWTH_ENERGY = 7.0e3, 5100.0
DEATH_ARRHENIUS, DEATH_ENERGY = 1e33, 50000.0
EVAPORATION = 2.5e-4
T_FREEZE, T_BOIL = 273.0, 373.0
GAS_CONSTANT = 1.9872  # cal/(mol K)
MAX_VOLUME = 180.0
MAX_STEPS = 2500


def penicillin(volume, biomass, temperature, glucose, feed_rate, feed_glucose, ph):
    """A fed-batch penicillin fermentation, integrated by unit Euler steps until the culture
    overflows `MAX_VOLUME`, the glucose runs out or production stops (its rate under 1e-11),
    at most `MAX_STEPS` steps. Returns `[−penicillin, CO2, steps]`: the yield is maximized,
    the CO2 by-product and the time minimized. Inputs: culture volume [60, 120], biomass
    [0.05, 18], temperature in K [293, 303], glucose [0.05, 18], feed rate [0.01, 0.5], feed
    glucose concentration [500, 700], pH [5, 6.5]."""
    hydrogen = 10.0 ** (-ph)
    product, co2 = 0.0, 0.0
    growth_temperature = (GROWTH_ARRHENIUS * math.exp(-GROWTH_ENERGY / (GAS_CONSTANT * temperature))
                          - DEATH_ARRHENIUS * math.exp(-DEATH_ENERGY / (GAS_CONSTANT * temperature)))
    ph_factor = GROWTH_RATE / (1.0 + K1 / hydrogen + hydrogen / K2)
    evaporation = EVAPORATION * math.expm1(5.0 * (temperature - T_BOIL) / (T_FREEZE - T_BOIL))
    for step in range(1, MAX_STEPS + 1):
        d_volume = feed_rate - volume * evaporation
        growth = ph_factor * glucose / (GROWTH_SATURATION * biomass + glucose) * growth_temperature
        d_biomass = growth * biomass - biomass / volume * d_volume
        production = PRODUCT_RATE * glucose / (PRODUCT_SATURATION + glucose + glucose**2 / PRODUCT_INHIBITION)
        d_glucose = (-growth / YIELD_BIOMASS * biomass - production / YIELD_PRODUCT * biomass
                     - MAINTENANCE * biomass + feed_rate * feed_glucose / volume - glucose / volume * d_volume)
        d_product = production * biomass - HYDROLYSIS * product - product / volume * d_volume
        d_co2 = CO2_GROWTH * d_biomass + CO2_BIOMASS * biomass + CO2_BASE
        product += d_product
        volume += d_volume
        biomass += d_biomass
        glucose += d_glucose
        co2 += d_co2
        if volume > MAX_VOLUME or glucose < 0.0 or d_product < 1e-11:
            return [-product, co2, float(step)]
    return [-product, co2, float(MAX_STEPS)]
