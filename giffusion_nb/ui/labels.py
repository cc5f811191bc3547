"""The dashboard's human labels for every setting (the tooltips are the settings' help texts)."""

from __future__ import annotations

LABELS = {
    "model_id": "Model",
    "pipeline_class": "Pipeline class",
    "cpu_offload": "CPU offload",
    "compile_unet": "Compile the UNet",
    "controlnet_ids": "ControlNet ids",
    "motion_adapter_id": "Motion adapter",
    "lora": "LoRA adapters",
    "prompts": "Prompts",
    "negative_prompt": "Negative prompt",
    "seed": "Seed",
    "num_inference_steps": "Steps",
    "guidance_scale": "Guidance scale",
    "strength": "Image strength",
    "use_fixed_latent": "One noise for all",
    "use_prompt_embeds": "Blend prompts",
    "scheduler": "Scheduler",
    "scheduler_kwargs": "Scheduler options",
    "pipeline_kwargs": "Pipeline arguments",
    "batch_size": "Batch size",
    "video_window": "Video window",
    "video_overlap": "Window overlap",
    "height": "Height (px)",
    "width": "Width (px)",
    "num_latent_channels": "Latent channels",
    "interpolation_type": "Interpolation",
    "interpolation_args": "Interpolation args",
    "pacing": "Pacing",
    "output_format": "Output format",
    "fps": "FPS",
    "image_input": "Image input",
    "video_input": "Video input",
    "audio_input": "Audio input",
    "audio_key_frames": "Audio key frames",
    "audio_component": "Audio component",
    "mel_reduce": "Mel reduction",
    "zoom": "Zoom",
    "angle": "Angle (°)",
    "translate_x": "Move right (px)",
    "translate_y": "Move down (px)",
    "padding_mode": "Border fill",
    "color_coherence": "Colour coherence",
    "color_coherence_space": "Colour space",
    "color_coherence_image": "Colour reference",
    "comet": "Log to Comet",
    "comet_frame_stride": "Comet frame stride",
    "workers": "Ray workers",
    "inspiration_model": "Inspiration model",
}


def label(name: str) -> str:
    """The label the dashboard shows for setting ``name``."""
    return LABELS[name]
