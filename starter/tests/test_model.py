import random
import unittest

from model import FEATURES, Model, auc, init_state, log_loss, pack_model, train_epoch, unpack_model


def toy_data(n=200, seed=1):
    rng = random.Random(seed)
    xs, ys = [], []
    for _ in range(n):
        x = [rng.uniform(18, 80), rng.uniform(10, 100), rng.random(), rng.uniform(0, 100), rng.randint(0, 5)]
        ys.append(1 if x[2] + 0.1 * x[4] + rng.gauss(0, 0.1) > 0.7 else 0)
        xs.append(x)
    return xs, ys


class ModelTest(unittest.TestCase):
    def test_gradient_descent_lowers_the_loss(self):
        xs, ys = toy_data()
        state = init_state(xs)
        losses = []
        for epoch in range(5):
            state = train_epoch(state, xs, ys, epoch=epoch, seed=3, learning_rate=0.2, batch_size=16, l2=0.0)
            model = Model(state["mean"], state["std"], state["weights"], state["bias"])
            losses.append(log_loss(ys, [model.predict_proba(x) for x in xs]))
        self.assertLess(losses[-1], losses[0])
        self.assertLess(losses[-1], 0.45)
        self.assertGreater(auc(ys, [model.predict_proba(x) for x in xs]), 0.9)

    def test_l2_shrinks_the_weights(self):
        xs, ys = toy_data()
        plain, shrunk = init_state(xs), init_state(xs)
        for epoch in range(5):
            plain = train_epoch(plain, xs, ys, epoch=epoch, seed=3, learning_rate=0.2, batch_size=16, l2=0.0)
            shrunk = train_epoch(shrunk, xs, ys, epoch=epoch, seed=3, learning_rate=0.2, batch_size=16, l2=0.1)
        self.assertLess(sum(w * w for w in shrunk["weights"]), sum(w * w for w in plain["weights"]))

    def test_auc(self):
        self.assertEqual(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75)
        self.assertEqual(auc([0, 1], [0.5, 0.5]), 0.5)
        self.assertIsNone(auc([1, 1], [0.2, 0.9]))

    def test_extreme_scores_do_not_overflow(self):
        model = Model([0.0] * 5, [1.0] * 5, [1000.0] * 5, 0.0)
        self.assertEqual(model.predict_proba([10.0] * 5), 1.0)
        self.assertEqual(model.predict_proba([-10.0] * 5), 0.0)

    def test_model_tar_gz_round_trips_and_is_byte_stable(self):
        model = Model([1.0] * 5, [2.0] * 5, [0.5, -0.25, 0.0, 1.0, 2.0], -0.1, metadata={"candidate": "logreg"})
        packed = pack_model(model)
        self.assertEqual(packed, pack_model(model))
        loaded = unpack_model(packed)
        self.assertEqual(loaded.to_dict(), model.to_dict())

    def test_refuses_a_model_of_other_features(self):
        data = Model([0.0] * 5, [1.0] * 5, [0.0] * 5, 0.0).to_dict()
        data["features"] = list(reversed(FEATURES))
        with self.assertRaisesRegex(ValueError, "trained on features"):
            Model.from_dict(data)
