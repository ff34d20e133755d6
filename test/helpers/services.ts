/**
 * Where the tests find the services test/setup/ensure.sh brings up (it runs before every
 * `npm test`). Each can be pointed elsewhere with an environment variable, e.g. a developer's own
 * PostgreSQL: MLP_TEST_POSTGRES_URL=postgres://me@127.0.0.1:5432/scratch npm test
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** ensure.sh's cache: the venv, the test image's root filesystem, dockerd's log. */
export const MLP_CACHE = process.env.MLP_CACHE || join(homedir(), '.cache', 'mlp');

/** Python of the test venv, with the packages pinned in test/setup/requirements.txt (moto, ...). */
export const PYTHON_VENV = process.env.MLP_TEST_PYTHON || join(MLP_CACHE, 'venv', 'bin', 'python');

/** Airflow 3 with the Amazon provider (test/setup/airflow-requirements.txt), for `mlp export airflow`'s DAGs. */
export const AIRFLOW_VENV = process.env.MLP_TEST_AIRFLOW_VENV || join(MLP_CACHE, 'airflow-venv');

/** A database the tests may use freely; the role may also create databases of its own. */
export const POSTGRES_URL = process.env.MLP_TEST_POSTGRES_URL || 'postgres://mlp:mlp@127.0.0.1:54329/mlp_test';

/** The Docker engine ensure.sh started (vfs storage; containers need NetworkMode 'host'). */
export const DOCKER_SOCKET = process.env.MLP_TEST_DOCKER_SOCKET || '/var/run/docker.sock';

/** An image with python3 and /bin/sh, built without a registry; nothing can be pulled. */
export const TEST_IMAGE = process.env.MLP_TEST_IMAGE || 'mlp-test-python:latest';
