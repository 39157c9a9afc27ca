"""Train stage: LoRA SFT of a chat model on one language's task data.

``run_train(TrainJobConfig)`` writes, under the job's out dir (``paths.TrainDir``):
``adapter/`` (peft safetensors + ``crossling_adapter.json``), ``train_log.csv`` (step, loss,
lr, tokens/s, ...), ``loss.png`` and ``manifest.json`` (base model, data hash, config,
versions, wall time). Checkpoints under ``checkpoints/`` let ``--resume`` continue a killed
run and end with the same adapter as an uninterrupted one.

Speed
-----
Rows of a forward pass are packed into one padding-free sequence (``train.packing``,
``packing.py``): position ids restart per row and attention cannot cross rows (flash varlen
or a block-diagonal mask), with the same loss and gradients as padded batches. On CUDA the
rows of each step are re-split into passes sized from free memory (``micro_batch_tokens``),
while one optimizer step still sees ``batch_size x grad_accum`` rows. AdamW is fused where
torch has the kernel; ``train.compile`` compiles the decoder.

Scale-out (several GPUs, DDP)
-----------------------------
The same command runs data-parallel under ``accelerate launch``; every process trains on its
own share of each step's rows and gradients are averaged::

    accelerate launch --multi_gpu --num_processes 4 -m crossling.cli train \\
        --data runs/data/caps --lang de --model Qwen/Qwen2.5-0.5B-Instruct \\
        --out runs/train/caps/de-s0 --grad-accum 2

One optimizer step sees ``batch_size x grad_accum x num_processes`` rows, so divide
``--grad-accum`` by the number of GPUs to keep the reference batch of 16 (2 x 8 on one GPU,
2 x 2 on four). The loss is the mean over all assistant tokens of a step across processes.
Only process 0 writes checkpoints, logs and the adapter; ``--resume`` works the same way
(with the same number of processes). Without GPUs the same path runs on CPU processes
(gloo backend)::

    accelerate launch --multi_gpu --num_processes 2 -m crossling.cli train ... --device cpu

(in accelerate 1.x, ``--cpu --num_processes 2`` starts a single process unless mpirun is
configured with ``--mpirun_hostfile``; ``--multi_gpu`` goes through torch.distributed.run
and accelerate picks MULTI_CPU when the model device is cpu). The slow test
``test_accelerate_two_processes_match_one`` runs exactly this and checks that 2 processes
x 1 micro-batch give the same adapter as 1 process x 2 micro-batches.
"""

from typing import Any

from crossling.train.batching import build_schedule, collate
from crossling.train.config import TrainConfig, TrainJobConfig
from crossling.train.trainer import run_train


def __getattr__(name: str) -> Any:
    """``SFTLoss`` imports torch: loaded on first use so ``crossling --help`` stays fast."""
    if name == "SFTLoss":
        from crossling.train.loss import SFTLoss

        return SFTLoss
    raise AttributeError(name)


__all__ = [
    "SFTLoss",
    "TrainConfig",
    "TrainJobConfig",
    "build_schedule",
    "collate",
    "run_train",
]
