"""QfrontSampler against the patterns of Optuna's own sampler tests: every distribution kind,
fixed (single-value) parameters, categorical choices of any type, single and several
objectives, constraints, running trials as pending points, failures, several processes on one
RDB storage, and bad settings."""

import json
import math
import multiprocessing
import warnings

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

import qfront
from qfront.optuna import METHODS, PROPOSAL_KEY, QfrontSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin_currin(trial):
    x1 = trial.suggest_float("x1", 0, 1)
    x2 = trial.suggest_float("x2", 0, 1)
    a, b = 15 * x1 - 5, 15 * x2
    branin = (b - 5.1 / (4 * math.pi**2) * a * a + 5 / math.pi * a - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(a) + 10
    currin = (1 - math.exp(-1 / (2 * x2 + 1e-9))) * (2300 * x1**3 + 1900 * x1**2 + 2092 * x1 + 60) / (100 * x1**3 + 500 * x1**2 + 4 * x1 + 20)
    return branin, currin


def front_hypervolume(study, reference=(-18.0, -6.0)):
    points = [[-v for v in t.values] for t in study.trials if t.state == TrialState.COMPLETE]
    return qfront.hypervolume(points, list(reference))


def test_every_distribution_kind_is_sampled_inside_it():
    distributions = {
        "f": FloatDistribution(-2.0, 3.0),
        "flog": FloatDistribution(1e-5, 1e-1, log=True),
        "fstep": FloatDistribution(0.0, 1.0, step=0.25),
        "i": IntDistribution(-3, 7),
        "ilog": IntDistribution(1, 1024, log=True),
        "istep": IntDistribution(2, 20, step=3),
        "c": CategoricalDistribution([None, 1, 2.5, "relu", True]),
        "fixed": FloatDistribution(0.5, 0.5),
    }
    sampler = QfrontSampler(seed=1, n_startup_trials=4)
    study = optuna.create_study(sampler=sampler)

    def objective(trial):
        values = {name: trial._suggest(name, d) for name, d in distributions.items()}
        for name, d in distributions.items():
            assert d._contains(d.to_internal_repr(values[name])), (name, values[name])
        assert values["fstep"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert (values["istep"] - 2) % 3 == 0
        assert isinstance(values["i"], int) and isinstance(values["ilog"], int)
        assert values["fixed"] == 0.5
        return values["f"] ** 2 + (values["i"] - 2) ** 2 + (0.0 if values["c"] == "relu" else 1.0)

    study.optimize(objective, n_trials=14)
    assert len(study.trials) == 14
    # Model-based trials came from the relative space (the fixed parameter is left out of it).
    space = sampler.infer_relative_search_space(study, study.trials[-1])
    assert "fixed" not in space and len(space) == 7
    # The search found the categorical optimum and a small value.
    assert study.best_value < 3.0


def test_single_objective_beats_its_own_sobol_baseline():
    def quadratic(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", -5, 5)
        return (x - 1.3) ** 2 + (y + 0.7) ** 2

    bo = optuna.create_study(sampler=QfrontSampler(seed=0))
    bo.optimize(quadratic, n_trials=20)
    sobol = optuna.create_study(sampler=QfrontSampler(method="sobol", seed=0))
    sobol.optimize(quadratic, n_trials=20)
    assert bo.best_value < 0.05 < sobol.best_value


def test_the_initial_design_is_one_stratified_sobol_sequence():
    # The sampler is rebuilt at every trial with a model seed that moves with the trial; the
    # initial design must still be the first points of one scrambled Sobol sequence. Its
    # first 16 points in 2-D put one point in each cell of the 4 × 4 grid (a (0, 4, 2)-net).
    # Trial 0 has no search space yet and is the independent sampler's (as with Optuna's own
    # samplers), so trials 1–15 are points 1–15 and fill 15 distinct cells; 15 independent
    # uniform points (point k of a different scramble at each trial, as before) do that
    # with probability 16!/16**15 ≈ 1.8e-5.
    for seed in (0, 1, 2):
        study = optuna.create_study(sampler=QfrontSampler(seed=seed, n_startup_trials=16))
        study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=16)
        cells = {(int(t.params["x"] * 4), int(t.params["y"] * 4)) for t in study.trials[1:]}
        assert len(cells) == 15, (seed, sorted(cells))
        assert all(t.system_attrs[PROPOSAL_KEY]["kind"] == "sobol" for t in study.trials[1:])


def test_two_objectives_reach_a_larger_front_than_random_search():
    bo = optuna.create_study(directions=["minimize", "minimize"], sampler=QfrontSampler(seed=2))
    bo.optimize(branin_currin, n_trials=30)
    rnd = optuna.create_study(directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=2))
    rnd.optimize(branin_currin, n_trials=30)
    assert front_hypervolume(bo) > front_hypervolume(rnd)


def test_directions_mix_maximize_and_minimize():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, x * x  # maximize x, minimize x²: every point is on the front

    study = optuna.create_study(directions=["maximize", "minimize"], sampler=QfrontSampler(seed=3))
    study.optimize(objective, n_trials=12)
    assert len(study.best_trials) == 12


def test_constraints_keep_the_search_feasible():
    def constraints(trial):
        return (trial.params["x1"] + trial.params["x2"] - 0.9,)  # feasible when x1 + x2 ≤ 0.9

    sampler = QfrontSampler(seed=4, constraints_func=constraints)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(branin_currin, n_trials=24)
    for trial in study.trials:
        assert trial.system_attrs["constraints"] == (trial.params["x1"] + trial.params["x2"] - 0.9,)
    model_based = study.trials[6:]
    feasible = sum(t.system_attrs["constraints"][0] <= 0 for t in model_based)
    assert feasible >= 0.7 * len(model_based), feasible
    # Optuna's own front honours the constraints the sampler stored.
    assert all(t.system_attrs["constraints"][0] <= 0 for t in study.best_trials)


def test_running_trials_are_pending_points():
    # The sampler hands qfront a running trial with its parameters and no values...
    sampler = QfrontSampler(seed=5, n_startup_trials=2)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=6)
    first, second = study.ask(), study.ask()
    a = first.suggest_float("x", 0, 1)
    params = [qfront.optuna._Param("x", FloatDistribution(0, 1))]
    history, _ = sampler._history(study, study._storage.get_trial(second._trial_id), params)
    running = [entry for entry in history if entry["params"] == [a]]
    # (with how the sampler chose it, so qfront's rules that look back see their own steps)
    assert len(running) == 1 and "values" not in running[0] and "failed" not in running[0], running
    assert running[0]["proposal"]["kind"] in {"sobol", "box-exploration", "line-exploration", "anchor", "acquisition"}
    assert sum("values" in entry for entry in history) == 6
    # ...and qfront's ask conditions on it: the same history and seed with the point it
    # would choose marked pending gives another point (ignoring the pending point would give
    # the same one to the bit; on this smooth, noise-free objective the models know the
    # optimum well, so the second point lies 7.5e-4 away).
    space = json.dumps([{"name": "x", "type": "float", "low": 0.0, "high": 1.0}])
    done = [{"params": [x], "values": [-((x - 0.3) ** 2)]} for x in (0.05, 0.2, 0.45, 0.6, 0.8, 0.95)]

    def ask(trials):
        return json.loads(qfront._native.suggest(space, json.dumps(trials), "qnehvi", 9, 1, 0, 2, 6))["params"][0]

    alone = ask(done)
    with_pending = ask(done + [{"params": [alone]}])
    assert abs(alone - with_pending) > 1e-4, (alone, with_pending)


def test_failed_and_pruned_trials_are_left_out_of_the_model():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 3 == 1:
            raise optuna.TrialPruned()
        if trial.number % 3 == 2:
            return float("nan")  # Optuna records a failure
        return (x - 0.6) ** 2

    study = optuna.create_study(sampler=QfrontSampler(seed=6, n_startup_trials=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=15, catch=(ValueError,))
    states = {t.state for t in study.trials}
    assert TrialState.PRUNED in states and TrialState.FAIL in states
    assert study.best_value < 0.01


def _worker(url, n, seed):
    study = optuna.load_study(study_name="shared", storage=url, sampler=QfrontSampler(seed=seed))
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.25) ** 2 + t.suggest_int("k", 0, 4), n_trials=n)


def test_several_processes_share_an_rdb_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="shared", storage=url)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(url, 8, seed)) for seed in (7, 8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
        assert w.exitcode == 0
    study = optuna.load_study(study_name="shared", storage=url)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 16
    # Both processes contributed and the shared history steered both.
    assert study.best_value < 0.05, study.best_params
    # Points chosen at the same moment by two processes cannot see each other (neither has
    # parameters yet while the other samples), so repeats are possible, as with Optuna's own
    # samplers; most points are still distinct.
    assert len({(t.params["x"], t.params["k"]) for t in complete}) >= 10


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="qnehvi"):
        QfrontSampler(method="tpe")
    with pytest.raises(ValueError, match="n_startup_trials"):
        QfrontSampler(n_startup_trials=-1)
    assert set(METHODS) >= {"qnehvi", "qnehvi-saas", "qparego", "sobol"}
    with pytest.raises(qfront.QfrontError, match="method"):
        qfront._native.suggest("[]", "[]", "nope", 0, 1)


def test_a_reference_point_is_taken_in_the_study_directions():
    sampler = QfrontSampler(seed=4, reference_point=[1.1, 1.1], n_startup_trials=4)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(branin_currin, n_trials=8)
    assert len(study.trials) == 8
    with pytest.raises(ValueError, match="2 objectives"):
        bad = optuna.create_study(directions=["minimize", "minimize"], sampler=QfrontSampler(seed=0, reference_point=[1.0], n_startup_trials=1))
        bad.optimize(branin_currin, n_trials=3)
    with pytest.raises(ValueError, match="finite"):
        QfrontSampler(reference_point=[1.0, float("inf")])


def test_every_trial_says_how_it_was_chosen():
    # Both objectives minimized and positive: a reference point handed back in the maximized
    # frame (negated) would be negative, so the sign shows which frame it is in.
    sampler = QfrontSampler(seed=2, n_startup_trials=6)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(branin_currin, n_trials=12)
    # The first trial has no relative search space yet: the independent sampler draws it.
    assert PROPOSAL_KEY not in study.trials[0].system_attrs
    proposals = [t.system_attrs[PROPOSAL_KEY] for t in study.trials[1:]]
    assert [p["kind"] for p in proposals[:5]] == ["sobol"] * 5
    kinds = {"sobol", "box-exploration", "line-exploration", "anchor", "acquisition"}
    assert all(p["kind"] in kinds for p in proposals)
    acquisitions = [(t, p) for t, p in zip(study.trials[1:], proposals) if p["kind"] == "acquisition"]
    assert len(acquisitions) >= 3
    rules = set()
    for trial, proposal in acquisitions:
        rules.add(proposal["rule"])
        assert proposal["value"] >= 0.0 and math.isfinite(proposal["value"])
        earlier = [t.values for t in study.trials[: trial.number]]
        best = [min(v[k] for v in earlier) for k in range(2)]
        # The inferred point lies past the best value observed so far in each objective.
        assert all(r > b > 0 for r, b in zip(proposal["reference"], best)), (proposal, best)
    assert rules <= {"predicted-front", "loose"} and "predicted-front" in rules
    # A given point comes back as given, in the study's directions. (While no sample of
    # any candidate improves on it, a trial measures against the inferred point instead;
    # and every sixth trial's acquisition, numbers 7 and 13 here, against the predicted
    # front's point.)
    given = QfrontSampler(seed=2, n_startup_trials=4, reference_point=[18.0, 6.0])
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=given)
    study.optimize(branin_currin, n_trials=15)
    alternations = [
        t.system_attrs[PROPOSAL_KEY]
        for t in study.trials
        if t.number % 6 == 1 and t.system_attrs[PROPOSAL_KEY]["kind"] == "acquisition"
    ]
    assert alternations and all(p["rule"] == "predicted-front" for p in alternations), alternations
    told = 0
    for trial in study.trials[1:]:
        proposal = trial.system_attrs[PROPOSAL_KEY]
        if proposal["kind"] != "acquisition":
            continue
        if proposal["rule"] == "given":
            assert proposal["reference"] == [18.0, 6.0], proposal
            told += 1
        else:
            assert proposal["rule"] in {"predicted-front", "loose"}, proposal
    assert told >= 1
    last = study.trials[-1].system_attrs[PROPOSAL_KEY]
    assert last["kind"] == "acquisition" and last["rule"] == "given", last


def test_an_exploration_step_backs_off_after_a_dominated_one():
    # The front is the face x2 = 0 (x1 trades one objective for the other): a box step, the
    # largest hole inside the square, lands off it, dominated by a trial on it. The sampler
    # rebuilds qfront's optimizer at every trial, so it must hand back how each earlier trial
    # was chosen for the next step of that kind to back off (every 10th trial after the 6
    # initial ones: the box steps at 15, 25, 35).
    def face(trial):
        x1 = trial.suggest_float("x1", 0, 1)
        x2 = trial.suggest_float("x2", 0, 1)
        return x1 + 4 * x2, 1 - x1 + 4 * x2

    study = optuna.create_study(directions=["minimize", "minimize"], sampler=QfrontSampler(seed=3, n_startup_trials=6))
    study.optimize(face, n_trials=40)
    trials = study.trials
    kinds = [t.system_attrs.get(PROPOSAL_KEY, {}).get("kind") for t in trials]

    def dominated(n):
        return any(all(a <= b for a, b in zip(e.values, trials[n].values)) for e in trials[:n])

    checked = 0
    for kind in ("box-exploration", "line-exploration"):
        for n, k in enumerate(kinds):
            if k == kind and dominated(n) and n + 10 < len(trials):
                assert kinds[n + 10] != kind, (kind, n, kinds)
                checked += 1
    assert "box-exploration" in kinds and checked >= 1, kinds


def _ask_in_forked_child(url):
    study = optuna.load_study(study_name="forked", storage=url, sampler=QfrontSampler(seed=3, n_startup_trials=6))
    study.optimize(branin_currin, n_trials=2)


def test_a_forked_process_asks_after_its_parent_has(tmp_path):
    """An ask spreads its work over a rayon pool of its own. A process forked after its parent
    has asked (`multiprocessing`'s `fork` start method) inherits none of the parent's threads,
    so an ask queued on a pool the parent had started would wait forever."""
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="forked", storage=url, directions=["minimize", "minimize"],
                                sampler=QfrontSampler(seed=3, n_startup_trials=6))
    study.optimize(branin_currin, n_trials=8)
    child = multiprocessing.get_context("fork").Process(target=_ask_in_forked_child, args=(url,))
    child.start()
    child.join(timeout=60)
    hung = child.exitcode is None
    if hung:
        child.kill()
    assert not hung, "the forked child's ask never returned"
    assert child.exitcode == 0
    trials = optuna.load_study(study_name="forked", storage=url).trials
    assert len(trials) == 10 and all(t.state == TrialState.COMPLETE for t in trials)
    assert all(t.system_attrs[PROPOSAL_KEY]["kind"] != "sobol" for t in trials[8:])


def test_each_trial_keeps_the_fit_the_next_fit_starts_from():
    from qfront.optuna import MODEL_FIT_KEY

    study = optuna.create_study(directions=["minimize", "minimize"], sampler=QfrontSampler(seed=4, n_startup_trials=6))
    study.optimize(branin_currin, n_trials=10)
    for trial in study.trials[1:]:
        fit = trial.system_attrs.get(MODEL_FIT_KEY)
        if trial.system_attrs[PROPOSAL_KEY]["kind"] == "sobol":
            assert fit is None
        else:
            assert len(fit) == 2 and all(len(h["lengthscales"]) == 2 and h["noise"] > 0 for h in fit), fit
    assert any(MODEL_FIT_KEY in t.system_attrs for t in study.trials)
    # ...and the sampler hands the records back with the history.
    params = [qfront.optuna._Param(name, d) for name, d in study.trials[-1].distributions.items()]
    pending = study.ask()
    history, _ = study.sampler._history(study, study._storage.get_trial(pending._trial_id), params)
    assert [e.get("model_fit") for e in history] == [t.system_attrs.get(MODEL_FIT_KEY) for t in study.trials[:-1]]

    # Past 128 points a fit takes one start: the newest record in the history. The engine
    # reads it back from the history alone, so the same history asks the same point, and one
    # without the records starts its fits elsewhere.
    space = json.dumps([{"name": "x1", "type": "float", "low": 0, "high": 1}, {"name": "x2", "type": "float", "low": 0, "high": 1}])
    rng = __import__("random").Random(0)
    history = []
    for _ in range(135):
        x1, x2 = rng.random(), rng.random()
        history.append({"params": [x1, x2], "values": [-x1, -(1 - x1) * (1 + x2)]})

    def ask(trials):
        return json.loads(qfront._native.suggest(space, json.dumps(trials), "qnehvi", 5, 2, 0, 6))

    first = ask(history)
    assert len(first["model_fit"]) == 2
    x1, x2 = first["params"]
    history.append({"params": [x1, x2], "values": [-x1, -(1 - x1) * (1 + x2)], "proposal": first["proposal"], "model_fit": first["model_fit"]})
    warm = ask(history)
    assert ask(history) == warm
    cold = ask([{k: v for k, v in t.items() if k != "model_fit"} for t in history])
    assert cold["model_fit"] != warm["model_fit"]


def test_a_plateau_with_a_given_reference_point_finds_its_well():
    # Fonseca–Fleming on [−4, 4]³, both objectives minimized and told the reference point
    # (1, 1): each objective is 1 but for a narrow well, so the first eight trials are told
    # values that differ from 1 by nothing to 3e-5. Issue #17's suite's seed 7 (these settings) stayed
    # at a hypervolume of 0.003 with the plain and Yeo–Johnson models, which saw spikes; on
    # the log of the distance from the plateau (the log warp above the worst value, design
    # notes) the models see a bowl and the run finds the well, ending at 0.30 of 0.33.
    centre = 1 / math.sqrt(3)

    def values(x):
        return [
            1 - math.exp(-sum((v - centre) ** 2 for v in x)),
            1 - math.exp(-sum((v + centre) ** 2 for v in x)),
        ]

    sampler = QfrontSampler(seed=7, n_startup_trials=8, reference_point=[1.0, 1.0])
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    told = []
    for _ in range(40):
        trial = study.ask()
        x = [trial.suggest_float(f"x{i}", -4.0, 4.0) for i in range(3)]
        told.append(values(x))
        study.tell(trial, told[-1])
    inside = [[-a, -b] for a, b in told if a < 1.0 and b < 1.0]
    hv = qfront.hypervolume(inside, [-1.0, -1.0]) if inside else 0.0
    assert hv > 0.2, hv


def test_the_plain_surrogate_fits_the_mean_the_adaptive_one_holds():
    """`surrogate="plain"` reaches the engine: after twelve Sobol trials of two bowls in five
    dimensions its GPs' constant means are fitted, well above each objective's worst value,
    where the default recipe holds them at it (qfront-bo's `Surrogate`; the same check in
    Rust: `the_plain_recipe_fits_the_mean_that_the_adaptive_one_holds_at_the_worst`)."""
    space = json.dumps([{"name": f"x{i}", "type": "float", "low": 0, "high": 1} for i in range(5)])
    rng = __import__("random").Random(3)
    history, columns = [], [[], []]
    for _ in range(12):
        x = [rng.random() for _ in range(5)]
        values = [-sum((v - c) ** 2 for v in x) for c in (0.3, 0.7)]  # maximized
        history.append({"params": x, "values": values})
        for column, value in zip(columns, values):
            column.append(value)
    worst = []
    for column in columns:
        mean = sum(column) / len(column)
        sd = (sum((v - mean) ** 2 for v in column) / (len(column) - 1)) ** 0.5
        worst.append((min(column) - mean) / sd)

    def means(surrogate):
        answer = json.loads(qfront._native.suggest(space, json.dumps(history), "qnehvi", 7, 2, 0, 12, None, None, surrogate))
        return [fit["mean"] for fit in answer["model_fit"]]

    plain = means("plain")
    assert all(m > w + 0.3 for m, w in zip(plain, worst)), (plain, worst)
    assert means(None) == means("adaptive") != plain
    with pytest.raises(qfront.QfrontError, match="surrogate"):
        means("botorch")
    with pytest.raises(ValueError, match="surrogate"):
        QfrontSampler(surrogate="botorch")
    sampler = QfrontSampler(seed=1, surrogate="plain", n_startup_trials=4)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(branin_currin, n_trials=7)
    assert len(study.trials) == 7 and study.trials[-1].system_attrs[PROPOSAL_KEY]["kind"] != "sobol"
